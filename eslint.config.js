// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import globals from "globals";
import prettier from "eslint-config-prettier";
import importX from "eslint-plugin-import-x";
import { createTypeScriptImportResolver } from "eslint-import-resolver-typescript";
import rotabot from "./eslint/layers.js";

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "coverage/", "test-results/"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/consistent-type-imports": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
      "no-console": "error",
    },
  },
  {
    // Dependencies point one way (eslint/layers.js, docs/development.md); no runtime import cycles inside a layer.
    files: ["src/**/*.ts", "conversations/**/*.ts"],
    plugins: { "import-x": importX, rotabot },
    settings: { "import-x/resolver-next": [createTypeScriptImportResolver()] },
    rules: {
      "rotabot/layers": "error",
      "import-x/no-cycle": "error",
    },
  },
  { files: ["eslint.config.js", "eslint/**/*.js", "**/*.mjs"], ...tseslint.configs.disableTypeChecked },
  prettier,
  { files: ["**/*.mjs", "eslint/**/*.js"], languageOptions: { globals: globals.node } },
);
