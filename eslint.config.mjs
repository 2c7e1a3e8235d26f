// Lint: typescript-eslint's recommended rules with type information, so floating promises are errors.
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "**/.tributary/", "test-results/", "node_modules/", "packages/tributary-assets/dist/", "examples/**/node_modules/", ".cache/", "**/*.mjs", "test/**/fixtures/"] },
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // node:test's test()/describe() return promises the runner itself awaits.
      "@typescript-eslint/no-floating-promises": ["error", { allowForKnownSafeCalls: [{ from: "package", name: ["test", "describe", "it", "suite"], package: "node:test" }] }],
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-non-null-assertion": "off",
      "@typescript-eslint/no-explicit-any": "warn",
    },
  },
);
