import type { Store } from "./store.js";

/** Builds each named store once, on first use; a name without a definition is refused. */
export function cachedResolver<D>(defs: Record<string, D>, build: (name: string, def: D) => Store): (name: string) => Store {
  const cache = new Map<string, Store>();
  return (name) => {
    let s = cache.get(name);
    if (!s) {
      const def = Object.prototype.hasOwnProperty.call(defs, name) ? defs[name] : undefined;
      if (!def) throw new Error(`store ${JSON.stringify(name)} is not available to this task`);
      s = build(name, def);
      cache.set(name, s);
    }
    return s;
  };
}
