export { startModelEmulator, type ModelEmulator, type ModelEmulatorOptions, type ModelRequestRecord } from './server.js';
export { markerIn, type ModelMarker } from './scripts.js';
