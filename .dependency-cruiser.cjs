/**
 * Import rules for src/ (DESIGN.md, "Which way the imports point"), checked by
 * `npm run lint:deps` in CI; a violation fails the run. Paths are regular expressions on
 * paths relative to the working directory. Type-only imports count: a type import is still
 * knowledge of the other layer (tsPreCompilationDeps).
 *
 * The folders, top to bottom: main.ts/app.ts (start-up wiring) → cli, console, http → operators →
 * graphql → flags, viewer, panels (renderer) → layouts → floors (builder API, registry,
 * builders) → loaders → upstreams → cache → redis → observability, config, money, errors.ts.
 *
 * @type {import('dependency-cruiser').IConfiguration}
 */
module.exports = {
  forbidden: [
    {
      name: 'builders-import-only-builder-api',
      severity: 'error',
      comment:
        'A builder (src/floors/builders/) imports only the builder API (src/floors/builder.ts), its ' +
        'sibling helpers and money (src/money/money.ts): it reads data through the PanelData it is ' +
        'handed, as the domain types the builder API re-exports, so it is testable with plain objects. ' +
        'No upstream wire contract (not even as a type: those are the upstreams\' business, and change ' +
        'with the wire), client, loader, config, HTTP or npm library, and no formatting ' +
        '(src/money/format.ts: the renderer formats once, for the locale).',
      from: { path: '^src/floors/builders/' },
      to: {
        pathNot: ['^src/floors/builder\\.ts$', '^src/floors/builders/', '^src/money/money\\.ts$'],
      },
    },
    {
      name: 'upstreams-know-nothing-above',
      severity: 'error',
      comment:
        'Upstream clients (and the demo upstream services) know nothing of floors, layouts, panels, ' +
        'loaders or GraphQL: they fetch and check upstream answers, and the layers above read them.',
      from: { path: '^src/(upstreams|demo-upstreams)/' },
      to: {
        path: [
          '^src/(floors|layouts|panels|loaders|graphql|operators|http)/',
          '^node_modules/(graphql|graphql-jit|@apollo/[^/]+|@graphql-tools/[^/]+)/',
        ],
      },
    },
    {
      name: 'no-demo-upstreams-in-product',
      severity: 'error',
      comment:
        'The demo upstream server is its own module: only the start-up wiring of `npm start` ' +
        '(src/main.ts) starts it; product code never imports it (tests and benchmarks may).',
      from: { path: '^src/', pathNot: ['^src/main\\.ts$', '^src/demo-upstreams/'] },
      to: { path: '^src/demo-upstreams/' },
    },
    {
      name: 'wiring-is-the-top',
      severity: 'error',
      comment:
        'src/app.ts and src/main.ts wire everything together; nothing in src/ imports them but ' +
        'main.ts importing app.ts. (Folder cycles through src/ itself are invisible to ' +
        'no-folder-cycles, which sees src/ as the parent of every folder.)',
      from: { path: '^src/', pathNot: '^src/main\\.ts$' },
      to: { path: '^src/(app|main)\\.ts$' },
    },
    {
      name: 'errors-is-a-leaf',
      severity: 'error',
      comment:
        'src/errors.ts, the error catalogue, is imported by every layer, so it imports none ' +
        '(for the same reason as wiring-is-the-top, no-folder-cycles cannot see this).',
      from: { path: '^src/errors\\.ts$' },
      to: { path: '^src/' },
    },
    {
      name: 'no-folder-cycles',
      severity: 'error',
      scope: 'folder',
      comment:
        'Folders of src/ import each other in one direction only (see the list at the top of this ' +
        'file). When two folders need the same type, it belongs to the lower one, or to the one that ' +
        'implements it. Parent and child folders (src/floors and src/floors/builders) count as one.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No module imports itself through others, within a folder or across folders.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'no-unresolvable',
      severity: 'error',
      comment:
        'Every import resolves to a file or package. An import the checker cannot resolve would ' +
        'silently escape every rule above.',
      from: { path: '^src/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    // npm packages are checked as import targets, never cruised into.
    doNotFollow: { path: '^node_modules/' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      // `types`: for packages that ship declarations only (@apollo/server-gateway-interface).
      conditionNames: ['import', 'require', 'node', 'types', 'default'],
    },
  },
};
