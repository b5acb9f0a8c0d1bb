import { defineConfig } from 'vite'
import react from '@vitejs/plugin-react'

declare const process: { env: Record<string, string | undefined> }

// Where the Switchboard server runs during development (`switchboard serve`).
const target = process.env.SWITCHBOARD_URL ?? 'http://localhost:3000'

// Same-origin in development too: the dev server forwards the API and the
// Socket.IO endpoint, so the httpOnly `access_token` cookie set by /auth/login
// is stored for localhost:5173 and sent on every request and on the websocket.
const api = ['/auth', '/users', '/todos', '/chats', '/calls', '/ice-servers', '/health']

export default defineConfig({
  plugins: [react()],
  server: {
    port: 5173,
    strictPort: true,
    proxy: {
      ...Object.fromEntries(api.map((p) => [p, { target }])),
      '/socket.io': { target, ws: true },
    },
  },
  build: {
    outDir: 'dist',
    sourcemap: false,
  },
})
