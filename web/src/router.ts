import { useEffect, useState } from 'react'

// Hash routes, so that no client route can collide with the API paths
// (/todos, /chats, …) the same origin serves.
export type Route =
  | { page: 'todos' }
  | { page: 'chats'; chatId: string | null }
  | { page: 'call'; roomId: string | null }

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent)
  switch (parts[0]) {
    case 'chats':
      return { page: 'chats', chatId: parts[1] || null }
    case 'call':
      return { page: 'call', roomId: parts.slice(1).join('/') || null }
    default:
      return { page: 'todos' }
  }
}

export function href(route: Route): string {
  switch (route.page) {
    case 'todos':
      return '#/todos'
    case 'chats':
      return route.chatId ? `#/chats/${encodeURIComponent(route.chatId)}` : '#/chats'
    case 'call':
      return route.roomId ? `#/call/${encodeURIComponent(route.roomId)}` : '#/call'
  }
}

export function navigate(route: Route) {
  window.location.hash = href(route)
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash))
  useEffect(() => {
    const on = () => setRoute(parseRoute(window.location.hash))
    window.addEventListener('hashchange', on)
    return () => window.removeEventListener('hashchange', on)
  }, [])
  return route
}
