// ESLint (`npm run lint`, part of `npm test`): neostandard for the "standard"
// style the code is written in, and typescript-eslint's strict type-aware
// rules. Rules are changed here for the whole tree, each with its reason;
// a line that needs an exception says why after `--`.
import { defineConfig } from 'eslint/config'
import neostandard from 'neostandard'
import tseslint from 'typescript-eslint'

export default defineConfig(
  {
    // Build output, bench results (and their build copy), scratch files and
    // coverage; every .js here is generated (the sources are .ts) but this file.
    ignores: ['dist/', 'coverage/', 'bench/results/', '.tmp/', '**/*.js', '!eslint.config.js']
  },
  {
    // Typed against aedes 0.51 only (scripts/pack-check/scratch/{aedes,cjs}/tsconfig.0.51.json,
    // run by `npm run typecheck`): no tsconfig.json holds them.
    ignores: ['scripts/pack-check/scratch/aedes/aedes-0.51.ts', 'scripts/pack-check/scratch/cjs/app-0.51.ts']
  },
  neostandard({ ts: true, noJsx: true }),
  tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        // Each file is typed by its nearest tsconfig.json: the root one (src,
        // support, test, examples, bench, scripts) or the pack-check scratch one.
        projectService: true,
        tsconfigRootDir: import.meta.dirname
      }
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' }
  },
  {
    // Where neostandard and typescript-eslint overlap. neostandard's options
    // for the rules both turn on (no-unused-vars, no-unused-expressions,
    // no-use-before-define) stay: strictTypeChecked only sets their severity.
    files: ['**/*.ts'],
    rules: {
      // neostandard's TS stand-ins for checks tsc makes itself (ts2451, ts2393, ts2300).
      '@typescript-eslint/no-redeclare': 'off',
      '@typescript-eslint/no-dupe-class-members': 'off',
      // Deprecated in typescript-eslint: the core rule understands TS now.
      '@typescript-eslint/no-loss-of-precision': 'off',
      'no-loss-of-precision': 'error',
      // `void promise` is how no-floating-promises marks a promise left to run on purpose; standard forbids every void.
      'no-void': ['error', { allowAsStatement: true }]
    }
  },
  {
    files: ['**/*.ts'],
    rules: {
      // Numbers (ports, counts, byte lengths) read plainly in messages; the rest as strictTypeChecked has it.
      '@typescript-eslint/restrict-template-expressions': ['error', {
        allowNumber: true, allowAny: false, allowBoolean: false, allowNever: false, allowNullish: false, allowRegExp: false
      }],
      // node:test's test() and describe() return promises the runner awaits itself.
      '@typescript-eslint/no-floating-promises': ['error', {
        allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] }]
      }],
      // `() => resolve()` and `check: set => assert.equal(...)` callbacks are this code's idiom.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      // `void value` marks a value read on purpose: type tests, a compile-time check, getters read for what they throw.
      '@typescript-eslint/no-meaningless-void-operator': 'off'
    }
  },
  {
    // The library and the broker read at 120 columns (issue 23); a function
    // of the broker is a part a reader can name, under 80 lines.
    files: ['src/**/*.ts', 'packages/broker/src/**/*.ts'],
    rules: {
      '@stylistic/max-len': ['error', { code: 120, ignoreUrls: true }]
    }
  },
  {
    files: ['packages/broker/src/**/*.ts'],
    rules: {
      'max-lines-per-function': ['error', { max: 79, skipBlankLines: false, skipComments: false }]
    }
  },
  {
    files: ['test/**/*.ts', 'packages/*/test/**/*.ts'],
    rules: {
      // Tests check at run time what the types promise (`assert.ok(client !== undefined)`)
      // and read an asserted value's fields one assertion a line with `?.`.
      '@typescript-eslint/no-unnecessary-condition': 'off'
    }
  },
  {
    files: ['test/index.test.ts', 'scripts/pack-check/scratch/usage.ts', 'scripts/pack-check/scratch/aedes/plugins.ts'],
    rules: {
      // Type tests: Equal<A, B> and expectType<T>() use their type parameter once by design.
      '@typescript-eslint/no-unnecessary-type-parameters': 'off'
    }
  },
  {
    // This file, and the CommonJS app of the package check (scripts/pack-check/scratch/cjs/smoke.cjs):
    // plain JS, in no tsconfig.
    files: ['**/*.js', '**/*.cjs'],
    extends: [tseslint.configs.disableTypeChecked]
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: {
      // A CommonJS app loads the package, and aedes, with require().
      '@typescript-eslint/no-require-imports': 'off'
    }
  }
)
