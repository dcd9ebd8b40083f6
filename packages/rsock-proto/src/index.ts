export * from './codec.ts';
export * from './constants.ts';
export * from './describe.ts';
export * from './dgram.ts';
export * from './endpoint.ts';
export { isWellFormedUtf8 } from './utf8.ts';
