import type {
  ApiErrorBody,
  AuthResponse,
  CallLogEntry,
  Chat,
  CreateChat,
  CreateTodo,
  IceServersResponse,
  MeResponse,
  Message,
  Todo,
  UpdateTodo,
  User,
} from './contract'

/** An HTTP error from the server, with its `{error, message}` body. */
export class ApiError extends Error {
  status: number
  code: string
  constructor(status: number, code: string, message: string) {
    super(message)
    this.status = status
    this.code = code
  }
}

async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  let res: Response
  try {
    res = await fetch(path, {
      method,
      credentials: 'include',
      headers: body === undefined ? undefined : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
  } catch {
    throw new ApiError(0, 'network', 'Cannot reach the server. Check your connection and try again.')
  }
  if (res.status === 204) return undefined as T
  const text = await res.text()
  let data: unknown = undefined
  let parsed = false
  if (text) {
    try {
      data = JSON.parse(text)
      parsed = true
    } catch {
      data = undefined
    }
  }
  if (res.ok && !parsed) {
    throw new ApiError(res.status, 'bad_response', `Unexpected answer from the server for ${method} ${path} (not JSON).`)
  }
  if (!res.ok) {
    const err = data as Partial<ApiErrorBody> | undefined
    throw new ApiError(
      res.status,
      err?.error ?? `http_${res.status}`,
      err?.message ?? `Request failed (${res.status} ${res.statusText})`,
    )
  }
  return data as T
}

export const api = {
  register: (email: string, username: string, password: string) =>
    request<AuthResponse>('POST', '/auth/register', { email, username, password }),
  login: (email: string, password: string) => request<AuthResponse>('POST', '/auth/login', { email, password }),
  logout: () => request<void>('POST', '/auth/logout'),
  refresh: () => request<AuthResponse>('POST', '/auth/refresh'),
  me: () => request<MeResponse>('GET', '/auth/me'),

  searchUsers: (search: string) => request<User[]>('GET', `/users?search=${encodeURIComponent(search)}`),

  todos: () => request<Todo[]>('GET', '/todos'),
  createTodo: (t: CreateTodo) => request<Todo>('POST', '/todos', t),
  updateTodo: (id: string, patch: UpdateTodo) => request<Todo>('PATCH', `/todos/${encodeURIComponent(id)}`, patch),
  deleteTodo: (id: string) => request<void>('DELETE', `/todos/${encodeURIComponent(id)}`),

  chats: () => request<Chat[]>('GET', '/chats'),
  createChat: (c: CreateChat) => request<Chat>('POST', '/chats', c),
  messages: (chatId: string, limit: number, before?: string) => {
    const q = new URLSearchParams({ limit: String(limit) })
    if (before) q.set('before', before)
    return request<Message[]>('GET', `/chats/${encodeURIComponent(chatId)}/messages?${q}`)
  },
  markRead: (chatId: string) => request<void>('POST', `/chats/${encodeURIComponent(chatId)}/read`),

  iceServers: () => request<IceServersResponse>('GET', '/ice-servers'),

  calls: (limit: number, before?: string) => {
    const q = new URLSearchParams({ limit: String(limit) })
    if (before) q.set('before', before)
    return request<CallLogEntry[]>('GET', `/calls?${q}`)
  },
}

export function errorText(e: unknown): string {
  if (e instanceof Error) return e.message
  return String(e)
}
