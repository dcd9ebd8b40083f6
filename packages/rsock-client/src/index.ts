export { errnoError, type SocketError } from './errors.ts';
export { closeSessions, type VrAddress } from './session.ts';
export { type ConnectOptions, connect, createServer, Server, type ServerOptions } from './tcp.ts';
export { createSocket, type RemoteInfo, Socket, type SocketOptions } from './udp.ts';
