// ESLint (flat config) for the web UI, its unit tests and the end-to-end tests: ESLint's recommended rules,
// typescript-eslint's type-checked rules (floating promises, unsafe any, misused promises…) over the project's two
// tsconfigs, and the React hooks rules (rules of hooks, exhaustive dependencies). Run: npm run lint.
import js from '@eslint/js';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist', 'node_modules', 'test-results', 'playwright-report', '../Parley.Server/wwwroot'] },
  {
    files: ['**/*.{ts,tsx}'],
    extends: [js.configs.recommended, ...tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      ecmaVersion: 2023,
      globals: { ...globals.browser },
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // Unused names are already compile errors (noUnusedLocals / noUnusedParameters); `_name` marks an intended one.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // An async handler on a JSX attribute (onSubmit={submit}) is React's way; elsewhere a promise where a void is
      // expected is an error.
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { attributes: false } }],
      // Off: an async callback without await is how act() and async generators over fixed values are written.
      '@typescript-eslint/require-await': 'off',
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'no-console': ['error', { allow: ['warn', 'error'] }],
    },
  },
  {
    // The rules of hooks and exhaustive effect dependencies. The plugin's React Compiler rules (refs, purity,
    // set-state-in-effect, preserve-manual-memoization…) are left out: the UI is not built with the React Compiler.
    files: ['src/**/*.{ts,tsx}'],
    plugins: { 'react-hooks': reactHooks },
    rules: {
      'react-hooks/rules-of-hooks': 'error',
      'react-hooks/exhaustive-deps': 'error',
    },
  },
  {
    files: ['e2e/**/*.ts', '*.config.ts'],
    languageOptions: { globals: { ...globals.node } },
    rules: { 'no-console': 'off' },
  },
);
