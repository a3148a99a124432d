// The layer rules every lab follows, checked by `pnpm lint` (depcruise) instead of by discipline.
// Paths are relative to the repository root; a workspace package imported by name (e.g.
// `@lab/shared/http`, `@lab/cqrs-relay/seams`) resolves to its real path, so a rule about
// `shared/src/http/...` holds however the file was reached.
const LABS = '(cqrs-implementation|saga-orchestrator|resilience-lab)';
// A service is any package of a lab but the lab's `lab/` package (CLI, tests, exercises).
const SERVICE = `^${LABS}/(?!lab/)([^/]+)/`;
const DOMAIN = `^${LABS}/[^/]+/src/domain/`;
// The saga lab's modular monolith: one service whose modules own a schema each.
const MONOLITH = '^saga-orchestrator/monolith/';
const MODULES = `${MONOLITH}src/modules/`;
// The CQRS and resilience labs' in-process wirings: one service composing the others' modules.
const IN_PROCESS = '^(cqrs-implementation|resilience-lab)/monolith/';

/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    {
      name: 'domain-imports-entry-points',
      comment:
        'domain/ holds the rules of the pattern; entry-points/ calls it, never the other way round, ' +
        'or a rule could only be exercised through a route or a consumer.',
      severity: 'error',
      from: { path: DOMAIN },
      to: { path: `^${LABS}/[^/]+/src/entry-points/` },
    },
    {
      name: 'domain-imports-http-or-drivers',
      comment:
        'domain/ never knows how it is reached or how data is stored: no express or undici, no HTTP server ' +
        'or route helpers (createApp, start, parse), no pg or ioredis driver, no Redis client. ' +
        'AppError and problems (from @lab/shared/http or @lab/shared/errors) are values mapped to ' +
        "HTTP in one place; a use case may draw its transaction boundary with @lab/shared/pg's " +
        'withTransaction, while the SQL itself lives in data-access/.',
      severity: 'error',
      from: { path: DOMAIN },
      to: {
        path: [
          '(^|/)node_modules/(@types/)?(express|pg|pg-pool|ioredis|body-parser|undici)/',
          '^shared/src/http/(app|server|validate)\\.ts$',
          '^shared/src/redis\\.ts$',
        ],
      },
    },
    {
      name: 'domain-imports-node-http',
      comment:
        'domain/ never opens a socket of its own: HTTP belongs to entry-points/ and clients.',
      severity: 'error',
      from: { path: DOMAIN },
      to: { dependencyTypes: ['core'], path: '^(node:)?(http|https|http2|net)$' },
    },
    {
      name: 'service-imports-another-package-of-its-lab',
      comment:
        'Services talk over HTTP or Kafka and share only @lab/shared; importing another service ' +
        '(or the lab package) would couple their deployments. The saga participant kit is a ' +
        'library the participants are built from, so they may import it.',
      severity: 'error',
      from: { path: SERVICE, pathNot: [MONOLITH, IN_PROCESS] },
      to: {
        path: `^${LABS}/[^/]+/`,
        pathNot: ['^$1/$2/', '^saga-orchestrator/participant-kit/'],
      },
    },
    {
      name: 'monolith-imports-beyond-domain-rules',
      comment:
        'The modular monolith runs the same business rules as the saga participants, reached ' +
        'through their declared `./domain` exports (reservation and charge rules) and nothing ' +
        'else: no repositories, routes, idempotency table or service skeleton of a participant.',
      severity: 'error',
      from: { path: MONOLITH },
      to: {
        path: '^saga-orchestrator/(?!monolith/)[^/]+/',
        pathNot: [
          '^saga-orchestrator/participant-kit/src/domain/reservation-rules\\.ts$',
          '^saga-orchestrator/payments/src/domain/charge-rules\\.ts$',
        ],
      },
    },
    {
      name: 'module-imports-another-module',
      comment:
        "A module of the monolith owns its schema and its code; another module's internals " +
        '(its repositories, its tables, its routes) are not part of its contract. Modules meet ' +
        'through the ports the trips module declares, wired in start.ts.',
      severity: 'error',
      from: { path: `${MODULES}([^/]+)/` },
      to: { path: MODULES, pathNot: `${MODULES}$1/` },
    },
    {
      name: 'monolith-reaches-a-module-past-its-index',
      comment:
        "Outside a module, only its index.ts is visible: what start.ts wires is the module's " +
        'public surface, and the rest can change without the composition noticing.',
      severity: 'error',
      from: { path: MONOLITH, pathNot: MODULES },
      to: { path: `${MODULES}[^/]+/(?!index\\.ts$)` },
    },
    {
      name: 'in-process-wiring-reaches-past-a-module',
      comment:
        "A lab's in-process wiring hosts the other packages' modules through their declared " +
        '`./module` export (src/module.ts) and nothing else: their repositories, routes and ' +
        'rules behind it stay theirs to change, as they would behind a network hop.',
      severity: 'error',
      from: { path: IN_PROCESS },
      to: { path: '^$1/(?!monolith/)[^/]+/', pathNot: '^$1/[^/]+/src/module\\.ts$' },
    },
    {
      name: 'orchestrator-imports-participant-kit',
      comment:
        'The participant kit is what a participant is built from; the orchestrator only speaks ' +
        'to participants over HTTP.',
      severity: 'error',
      from: { path: '^saga-orchestrator/orchestrator/' },
      to: { path: '^saga-orchestrator/participant-kit/' },
    },
    {
      name: 'lab-imports-service-internals',
      comment:
        "A lab package reaches a service only through the service's declared package exports " +
        "(e.g. `@lab/cqrs-relay/seams`), never by a relative path into its src/: a service's " +
        'internals can then move without breaking the lab.',
      severity: 'error',
      from: { path: `^${LABS}/lab/` },
      to: { dependencyTypes: ['local'], path: `^${LABS}/(?!lab/)[^/]+/` },
    },
    {
      name: 'lab-imports-another-lab',
      comment: 'Each lab stands alone: a learner can read, run and delete one without the others.',
      severity: 'error',
      from: { path: `^${LABS}/` },
      to: { path: `^${LABS}/`, pathNot: '^$1/' },
    },
    {
      name: 'shared-imports-a-lab',
      comment:
        '@lab/shared is what every service is built from and what a learner reads first; it ' +
        'knows no lab.',
      severity: 'error',
      from: { path: '^shared/' },
      to: { path: `^${LABS}/` },
    },
    {
      name: 'console-imports-lab-code',
      comment:
        "The console is a client of the labs' public HTTP APIs and metrics, like any operator " +
        'tool: it never imports a lab, so a lab can change inside without breaking it. Its ' +
        "browser tests (console/test/) are the exception: they start real labs with the labs' " +
        "own starters, as each lab's tests do, and point the console at them.",
      severity: 'error',
      from: { path: '^console/', pathNot: '^console/test/' },
      to: { path: `^${LABS}/` },
    },
    {
      name: 'not-to-unresolvable',
      comment:
        'An import that resolves to nothing fails at run time; say so before then. `express` is ' +
        'the exception: a package that only needs its types imports them from the root ' +
        '@types/express (type-only, erased at run time), which the resolver does not look in.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true, pathNot: '^express$' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(\\.tools|\\.infra)/|(^|/)dist/' },
    // Type-only imports count: a domain that imports express's types still knows express.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.json'],
    },
  },
};
