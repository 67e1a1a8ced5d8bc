/**
 * An endpoint as the Lakebase API shapes it (`Endpoint`: `spec` and `status`, hosts in
 * `status.hosts`). Compute sizes (`autoscaling_limit_*_cu`) and suspend timeouts are left out:
 * the local computes do not scale.
 */
import type { EndpointRecord, EndpointType } from '../../base/endpoint-types.js';

export interface EndpointJson {
  name: string;
  uid: string;
  endpoint_id: string;
  parent: string;
  create_time: string;
  update_time: string;
  spec: { endpoint_type: EndpointType; group: { min: number; max: number } };
  status: {
    endpoint_id: string;
    endpoint_type: EndpointType;
    current_state: EndpointRecord['state'];
    disabled: boolean;
    group: { min: number; max: number; enable_readable_secondaries: boolean };
    hosts: EndpointRecord['hosts'];
    /** Local only: host → the port its door listens on (the API's hosts carry no port). */
    ports: EndpointRecord['ports'];
  };
}

export function endpointJson(record: EndpointRecord): EndpointJson {
  const at = record.name.lastIndexOf('/endpoints/');
  const id = record.name.slice(at + '/endpoints/'.length);
  return {
    name: record.name,
    uid: record.uid,
    endpoint_id: id,
    parent: record.name.slice(0, at),
    create_time: record.createTime.toISOString(),
    update_time: record.updateTime.toISOString(),
    spec: { endpoint_type: record.type, group: { min: 1, max: 1 } },
    status: {
      endpoint_id: id,
      endpoint_type: record.type,
      current_state: record.state,
      disabled: false,
      group: { min: 1, max: 1, enable_readable_secondaries: false },
      hosts: record.hosts,
      ports: record.ports,
    },
  };
}
