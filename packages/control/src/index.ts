export { ControlClient, ControlError, controlSocketPath, DEFAULT_RUN_DIR, request } from './client.ts';
export { type ControlHandler, ControlRequestError, ControlServer, socketAnswers } from './server.ts';
export { checkRunDir, ensureRunDir, listenSocketFile, type SocketFile } from './socket-file.ts';
export { NEXTHOP_VERSION, versionLine } from './version.ts';
