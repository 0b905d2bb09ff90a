// Build-time configuration (see .env.example).
import { parseIceServers } from './webrtc/iceServers.js';

export const BACKEND_URL = import.meta.env.VITE_BACKEND_URL?.trim() || '';
export const ICE_SERVERS = parseIceServers(import.meta.env.VITE_ICE_SERVERS);
