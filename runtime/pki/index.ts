export * from "./errors.js";
export * from "./identity.js";
export * from "./ca.js";
export * from "./inspect.js";
export * from "./tokens.js";
export * from "./region-files.js";
