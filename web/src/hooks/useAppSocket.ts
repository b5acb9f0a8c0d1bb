import type { AppClientToServer, AppServerToClient } from '../contract'
import { useNamespaceSocket } from './socketState'
import type { Socket } from 'socket.io-client'

export type AppSocket = Socket<AppServerToClient, AppClientToServer>

/** The app namespace `/`: todo, chat and presence events for the signed-in user. */
export function useAppSocket(enabled: boolean) {
  return useNamespaceSocket<AppServerToClient, AppClientToServer>('/', enabled)
}
