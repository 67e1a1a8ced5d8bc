import { generateDatabaseCredential, getWorkspaceClient } from '@lakebase-kit/core';

export const { token, expire_time } = await generateDatabaseCredential(getWorkspaceClient(), {
  endpoint: process.env.LAKEBASE_ENDPOINT!,
});
// token: the Postgres password of the client's identity; expire_time: RFC 3339 UTC
