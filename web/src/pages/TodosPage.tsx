import { useEffect, useMemo, useState, type FormEvent } from 'react'
import { api, errorText } from '../api'
import type { Priority, Todo } from '../contract'
import type { AppSocket } from '../hooks/useAppSocket'
import { useSocketEvent } from '../hooks/socketState'
import { EmptyState, Icon } from '../components/ui'

type Filter = 'all' | 'active' | 'done'
const PRIORITY_ORDER: Record<Priority, number> = { high: 0, medium: 1, low: 2 }

function sortTodos(list: Todo[]): Todo[] {
  return [...list].sort(
    (a, b) =>
      Number(a.completed) - Number(b.completed) ||
      PRIORITY_ORDER[a.priority] - PRIORITY_ORDER[b.priority] ||
      b.createdAt.localeCompare(a.createdAt),
  )
}

export function TodosPage({ socket }: { socket: AppSocket | null }) {
  const [todos, setTodos] = useState<Todo[] | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [filter, setFilter] = useState<Filter>('all')
  const [flash, setFlash] = useState<Set<string>>(new Set())

  const load = () =>
    api
      .todos()
      .then((t) => {
        setTodos(t)
        setError(null)
      })
      .catch((e) => setError(errorText(e)))

  useEffect(() => {
    load()
  }, [])

  // Catch up on whatever happened while the socket was away.
  useEffect(() => {
    if (!socket) return
    const onReconnect = () => load()
    socket.io.on('reconnect', onReconnect)
    return () => {
      socket.io.off('reconnect', onReconnect)
    }
  }, [socket])

  const upsert = (t: Todo, highlight = false) => {
    setTodos((prev) => {
      if (!prev) return prev
      const i = prev.findIndex((x) => x.id === t.id)
      if (i < 0) return [t, ...prev]
      if (prev[i].updatedAt > t.updatedAt) return prev
      const next = [...prev]
      next[i] = t
      return next
    })
    if (highlight) {
      setFlash((s) => new Set(s).add(t.id))
      setTimeout(
        () =>
          setFlash((s) => {
            const n = new Set(s)
            n.delete(t.id)
            return n
          }),
        1500,
      )
    }
  }
  const remove = (id: string) => setTodos((prev) => prev && prev.filter((x) => x.id !== id))

  useSocketEvent(socket, 'todo:created', (t) => upsert(t, true))
  useSocketEvent(socket, 'todo:updated', (t) => upsert(t))
  useSocketEvent(socket, 'todo:completed', (t) => upsert(t))
  useSocketEvent(socket, 'todo:deleted', ({ id }) => remove(id))

  const act = async (fn: () => Promise<void>) => {
    try {
      await fn()
      setError(null)
    } catch (e) {
      setError(errorText(e))
    }
  }

  const visible = useMemo(() => {
    const list = sortTodos(todos ?? [])
    if (filter === 'active') return list.filter((t) => !t.completed)
    if (filter === 'done') return list.filter((t) => t.completed)
    return list
  }, [todos, filter])

  const total = todos?.length ?? 0
  const done = todos?.filter((t) => t.completed).length ?? 0

  return (
    <div className="page narrow">
      <div className="page-head">
        <div>
          <h1>Todos</h1>
          <p className="muted">
            {todos === null ? 'Loading…' : total === 0 ? 'Nothing yet — add your first task.' : `${total - done} open · ${done} done`}
          </p>
        </div>
        {total > 0 && (
          <div className="progress" title={`${done} of ${total} done`}>
            <div style={{ width: `${(done / total) * 100}%` }} />
          </div>
        )}
      </div>

      <NewTodo onCreate={(t) => act(async () => upsert(await api.createTodo(t)))} />

      {error && (
        <div className="alert error" role="alert">
          {error}
        </div>
      )}

      <div className="toolbar">
        <div className="segmented small">
          {(['all', 'active', 'done'] as Filter[]).map((f) => (
            <button key={f} className={filter === f ? 'on' : ''} onClick={() => setFilter(f)}>
              {f === 'all' ? 'All' : f === 'active' ? 'Active' : 'Completed'}
            </button>
          ))}
        </div>
      </div>

      {todos === null ? (
        <div className="skeleton-list">
          <div className="skeleton" />
          <div className="skeleton" />
          <div className="skeleton" />
        </div>
      ) : visible.length === 0 ? (
        <EmptyState icon="check" title={filter === 'done' ? 'Nothing completed yet' : 'All clear'}>
          {filter === 'all' ? 'Tasks you add here show up instantly in your other tabs and devices.' : 'No tasks in this view.'}
        </EmptyState>
      ) : (
        <ul className="todo-list" data-testid="todo-list">
          {visible.map((t) => (
            <TodoRow
              key={t.id}
              todo={t}
              flash={flash.has(t.id)}
              onToggle={() => act(async () => upsert(await api.updateTodo(t.id, { completed: !t.completed })))}
              onRename={(title) => act(async () => upsert(await api.updateTodo(t.id, { title })))}
              onPriority={(priority) => act(async () => upsert(await api.updateTodo(t.id, { priority })))}
              onDelete={() =>
                act(async () => {
                  await api.deleteTodo(t.id)
                  remove(t.id)
                })
              }
            />
          ))}
        </ul>
      )}
    </div>
  )
}

function NewTodo({ onCreate }: { onCreate: (t: { title: string; description?: string; priority: Priority; dueDate?: string }) => Promise<void> }) {
  const [title, setTitle] = useState('')
  const [description, setDescription] = useState('')
  const [priority, setPriority] = useState<Priority>('medium')
  const [due, setDue] = useState('')
  const [open, setOpen] = useState(false)
  const [busy, setBusy] = useState(false)

  const submit = async (e: FormEvent) => {
    e.preventDefault()
    if (!title.trim()) return
    setBusy(true)
    await onCreate({
      title: title.trim(),
      description: description.trim() || undefined,
      priority,
      dueDate: due ? new Date(`${due}T23:59:59`).toISOString() : undefined,
    })
    setBusy(false)
    setTitle('')
    setDescription('')
    setDue('')
    setPriority('medium')
  }

  return (
    <form className="card new-todo" onSubmit={submit} onFocus={() => setOpen(true)}>
      <div className="new-todo-row">
        <input
          name="title"
          className="bare"
          placeholder="Add a task…"
          value={title}
          maxLength={200}
          onChange={(e) => setTitle(e.target.value)}
          data-testid="new-todo-title"
        />
        <button className="btn primary" type="submit" disabled={busy || !title.trim()} data-testid="add-todo">
          <Icon name="plus" /> Add
        </button>
      </div>
      {open && (
        <div className="new-todo-extra">
          <input
            name="description"
            placeholder="Description (optional)"
            value={description}
            onChange={(e) => setDescription(e.target.value)}
          />
          <select name="priority" value={priority} onChange={(e) => setPriority(e.target.value as Priority)} aria-label="Priority">
            <option value="high">High priority</option>
            <option value="medium">Medium priority</option>
            <option value="low">Low priority</option>
          </select>
          <input name="dueDate" type="date" value={due} onChange={(e) => setDue(e.target.value)} aria-label="Due date" />
        </div>
      )}
    </form>
  )
}

function TodoRow({
  todo,
  flash,
  onToggle,
  onRename,
  onPriority,
  onDelete,
}: {
  todo: Todo
  flash: boolean
  onToggle: () => void
  onRename: (title: string) => void
  onPriority: (p: Priority) => void
  onDelete: () => void
}) {
  const [editing, setEditing] = useState(false)
  const [draft, setDraft] = useState(todo.title)
  const overdue = !todo.completed && todo.dueDate && new Date(todo.dueDate).getTime() < Date.now()

  const commit = () => {
    setEditing(false)
    const t = draft.trim()
    if (t && t !== todo.title) onRename(t)
    else setDraft(todo.title)
  }

  return (
    <li className={`todo ${todo.completed ? 'done' : ''} ${flash ? 'flash' : ''}`} data-testid="todo-item" data-todo-id={todo.id}>
      <button
        className={`check ${todo.completed ? 'on' : ''}`}
        onClick={onToggle}
        aria-label={todo.completed ? 'Mark as not done' : 'Mark as done'}
        aria-pressed={todo.completed}
        data-testid="todo-toggle"
      >
        {todo.completed && <Icon name="check" size={14} />}
      </button>
      <div className="todo-body">
        {editing ? (
          <input
            className="bare edit"
            value={draft}
            autoFocus
            onChange={(e) => setDraft(e.target.value)}
            onBlur={commit}
            onKeyDown={(e) => {
              if (e.key === 'Enter') commit()
              if (e.key === 'Escape') {
                setDraft(todo.title)
                setEditing(false)
              }
            }}
          />
        ) : (
          <div
            className="todo-title"
            data-testid="todo-title"
            onDoubleClick={() => {
              setDraft(todo.title)
              setEditing(true)
            }}
            title="Double-click to edit"
          >
            {todo.title}
          </div>
        )}
        {(todo.description || todo.dueDate) && (
          <div className="todo-meta">
            {todo.description && <span>{todo.description}</span>}
            {todo.dueDate && (
              <span className={overdue ? 'due overdue' : 'due'}>
                Due {new Date(todo.dueDate).toLocaleDateString(undefined, { month: 'short', day: 'numeric' })}
              </span>
            )}
          </div>
        )}
      </div>
      <select
        className={`prio ${todo.priority}`}
        value={todo.priority}
        onChange={(e) => onPriority(e.target.value as Priority)}
        aria-label="Priority"
      >
        <option value="high">High</option>
        <option value="medium">Medium</option>
        <option value="low">Low</option>
      </select>
      <button className="icon-btn danger" onClick={onDelete} aria-label="Delete task" title="Delete">
        <Icon name="trash" size={16} />
      </button>
    </li>
  )
}
