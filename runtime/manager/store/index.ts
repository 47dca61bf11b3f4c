// The manager's persistence: every SQL statement in framefleet is in this folder.
export * from "./db.js";
export * from "./jobs.js";
export * from "./tasks.js";
export * from "./coordinators.js";
export * from "./credentials.js";
export * from "./audit.js";
export * from "./leadership.js";
export * from "./api-queries.js";
export * from "./notify.js";
export * from "./events.js";
export * from "./webhooks.js";
export * from "./stores.js";
export * from "./factories.js";
export * from "./engines.js";
