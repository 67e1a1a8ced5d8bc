/** SCIM `Me`: who the caller is (the SP by its application id, or a user by email). */
import type http from 'node:http';
import { userId } from '../base/identities.js';
import type { ServicePrincipal } from '../base/types.js';
import { sendJson } from './http.js';

export const ORG_ID = '1234567890123456';

export function me(res: http.ServerResponse, identity: string, sp: ServicePrincipal): void {
  const headers = { 'x-databricks-org-id': ORG_ID };
  if (identity === sp.clientId) {
    const app = {
      id: userId(sp.clientId),
      userName: sp.clientId,
      applicationId: sp.clientId,
      displayName: 'lakebase-local-app',
      active: true,
    };
    sendJson(res, 200, app, headers);
    return;
  }
  const user = {
    id: userId(identity),
    userName: identity,
    displayName: identity.split('@')[0],
    emails: [{ value: identity, primary: true, type: 'work' }],
    active: true,
  };
  sendJson(res, 200, user, headers);
}
