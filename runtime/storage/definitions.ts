// Store definitions travel to workers as JSON (never with long-lived secrets);
// this turns one back into a Store.
import type { Store } from "./store.js";
import { FsStore } from "./fs.js";

export type StoreDefinition = { kind: "fs"; root: string };
export type StoreDefinitions = Record<string, StoreDefinition>;

export function storeFromDefinition(name: string, def: StoreDefinition): Store {
  switch (def.kind) {
    case "fs":
      return new FsStore(name, def.root);
    default:
      throw new Error(`store ${name}: unsupported kind ${(def as { kind: string }).kind}`);
  }
}

export function storeResolver(defs: StoreDefinitions): (name: string) => Store {
  const cache = new Map<string, Store>();
  return (name) => {
    let s = cache.get(name);
    if (!s) {
      const def = defs[name];
      if (!def) throw new Error(`store ${JSON.stringify(name)} is not available to this task`);
      s = storeFromDefinition(name, def);
      cache.set(name, s);
    }
    return s;
  };
}
