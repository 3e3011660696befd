// The etcd access layer: see docs/store.md.
export * from './client.ts';
export * from './watch.ts';
export * from './lease.ts';
export * from './election.ts';
export { startEtcd, type EtcdProcess, type EtcdProcessOptions } from './etcd-process.ts';
