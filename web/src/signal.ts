// A value components can watch: enough state sharing for a few views, without a store library.
import { useEffect, useState } from 'preact/hooks';

export interface Signal<T> {
  value: T;
  set(value: T): void;
  subscribe(listener: (value: T) => void): () => void;
}

export function signal<T>(initial: T): Signal<T> {
  const listeners = new Set<(value: T) => void>();
  const s: Signal<T> = {
    value: initial,
    set(value) {
      s.value = value;
      for (const listener of listeners) listener(value);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  return s;
}

export function useSignal<T>(s: Signal<T>): T {
  const [, redraw] = useState(0);
  useEffect(() => s.subscribe(() => redraw((n) => n + 1)), [s]);
  return s.value;
}
