import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/**", ".framefleet/**", "runtime/proto/gen/**", "coverage/**", "**/*.d.ts", "console/dist/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_" },
      ],
      "@typescript-eslint/no-explicit-any": "error",
      "no-constant-condition": ["error", { checkLoops: false }],
    },
  },
  {
    files: ["bin/**/*.js", "**/*.cjs", "**/*.mjs"],
    languageOptions: {
      globals: { process: "readonly", console: "readonly", require: "readonly", module: "writable", __dirname: "readonly" },
    },
  },
);
