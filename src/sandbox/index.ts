export { startSandbox, attachReplica, type Sandbox, type SandboxOptions } from './topology.js';
export { SandboxServer, freePort, type SandboxEndpoint, type SandboxServerOptions } from './server.js';
export { serverBinaries, MissingBinariesError } from './binaries.js';
