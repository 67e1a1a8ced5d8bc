/**
 * Lakebase endpoints (computes) as the workspace's APIs see them, and what those APIs ask of
 * whoever runs the computes (`EndpointCatalog`; the project implements it). Types only.
 */

export type EndpointType = 'ENDPOINT_TYPE_READ_WRITE' | 'ENDPOINT_TYPE_READ_ONLY';
export type EndpointState = 'INIT' | 'ACTIVE' | 'IDLE' | 'DEGRADED';

/** `status.hosts`: where to connect (every host is a loopback address locally). */
export interface EndpointHostsJson {
  host?: string;
  read_only_host?: string;
  read_write_pooled_host?: string;
  read_only_pooled_host?: string;
}

/** One endpoint as the project knows it. */
export interface EndpointRecord {
  /** `projects/<p>/branches/<b>/endpoints/<e>` */
  name: string;
  uid: string;
  type: EndpointType;
  createTime: Date;
  updateTime: Date;
  state: EndpointState;
  hosts: EndpointHostsJson;
  /** Host → the local port its door listens on (hosts carry no port in the API). */
  ports: Record<string, number>;
  /** Made at start (the main endpoint, `replicas`): only `lb.stop()` removes it. */
  fixed: boolean;
}

export interface EndpointCatalog {
  /** The endpoints of a branch (none for an unknown branch). */
  list(branch: string): EndpointRecord[];
  get(name: string): EndpointRecord | undefined;
  /**
   * Starts a compute for a new endpoint of a running branch: READ_ONLY is a streaming replica
   * of the branch's Postgres; READ_WRITE opens a door to it (a branch has at most one).
   */
  create(branch: string, endpointId: string, type: EndpointType): Promise<EndpointRecord>;
  /** Stops the endpoint's compute and closes its doors. */
  remove(name: string): Promise<void>;
}
