import type { SignallingClientToServer, SignallingServerToClient } from '../contract'
import { useNamespaceSocket } from './socketState'
import type { Socket } from 'socket.io-client'

export type SignallingSocket = Socket<SignallingServerToClient, SignallingClientToServer>

/**
 * The signalling namespace `/webrtc`. It gets a connection of its own
 * (forceNew) so a call's signalling lives and reconnects independently of
 * the app's event stream.
 */
export function useSignalling(enabled: boolean) {
  return useNamespaceSocket<SignallingServerToClient, SignallingClientToServer>('/webrtc', enabled, {
    forceNew: true,
  })
}
