/**
 * Parity with the official packages: every name a user of `@databricks/lakebase` 0.6.0 or of
 * AppKit 0.38's `lakebase()` can reach must exist on our side, or switching the import breaks
 * their code. The names come from the official declaration files, read with the TypeScript
 * compiler (types and values alike), and the agent tool is compared as AppKit builds it.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { lakebase as officialLakebase } from '@databricks/appkit';
import officialDriverPackage from '@databricks/lakebase/package.json' with { type: 'json' };
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';
import { lakebase as ourLakebase } from '../src/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const PROBE = path.join(here, '__parity_probe__.ts');

/**
 * The pairs to compare, as types: [official, ours]. The user view of the official plugin is the
 * plugin itself (a proxy of it); ours is a view that must have the agent-tool methods AppKit
 * calls on it, and `exports()`.
 */
const PROBE_SOURCE = `
import type * as OfficialDriver from '@databricks/lakebase';
import type * as OurCore from '@lakebase-kit/core';
import type { lakebase as officialLakebase } from '@databricks/appkit';
import type { PluginToolkitProvider, ToolProvider } from '@databricks/appkit/beta';
import type { lakebase as ourLakebase } from '../src/index.js';

type OfficialConfig = NonNullable<Parameters<typeof officialLakebase>[0]>;
type OurConfig = NonNullable<Parameters<typeof ourLakebase>[0]>;
type OfficialClass = ReturnType<typeof officialLakebase>['plugin'];
type OurClass = ReturnType<typeof ourLakebase>['plugin'];
type OfficialPlugin = InstanceType<OfficialClass>;
type OurPlugin = InstanceType<OurClass>;

export type Pairs = {
  'lakebase() config keys': [OfficialConfig, OurConfig];
  'lakebase({ pool }) keys': [NonNullable<OfficialConfig['pool']>, NonNullable<OurConfig['pool']>];
  'lakebase({ exposeAsAgentTool }) keys': [
    NonNullable<OfficialConfig['exposeAsAgentTool']>,
    NonNullable<OurConfig['exposeAsAgentTool']>,
  ];
  'AppKit.lakebase exports() keys': [
    ReturnType<OfficialPlugin['exports']>,
    ReturnType<OurPlugin['exports']>,
  ];
  'plugin instance members (agent-tool methods included)': [OfficialPlugin, OurPlugin];
  'plugin class statics': [OfficialClass, OurClass];
  'plugin.asUser(req) agent-tool methods': [
    ToolProvider & PluginToolkitProvider & { exports(): unknown },
    ReturnType<OurPlugin['asUser']>,
  ];
  '@databricks/lakebase LakebasePoolConfig keys': [
    OfficialDriver.LakebasePoolConfig,
    OurCore.LakebasePoolConfig,
  ];
};
export type Modules = [typeof OfficialDriver, typeof OurCore];
`;

interface Probe {
  pairs: Map<string, [string[], string[]]>;
  driverExports: [string[], string[]];
  /** Property names of each object type both driver packages export, by export name. */
  driverTypeKeys: Map<string, [string[], string[]]>;
  diagnostics: string[];
}

function isPublic(symbol: ts.Symbol): boolean {
  if (symbol.name.startsWith('__#') || symbol.name.startsWith('#')) return false;
  return !(symbol.declarations ?? []).some(
    (d) => ts.getCombinedModifierFlags(d) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected),
  );
}

function loadProbe(): Probe {
  const config = ts.getParsedCommandLineOfConfigFile(
    path.join(here, '..', 'tsconfig.json'),
    {},
    { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} },
  );
  if (!config) throw new Error('tsconfig.json of the package could not be read');
  const options = { ...config.options, noEmit: true };
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (name, version, ...rest) =>
    name === PROBE
      ? ts.createSourceFile(name, PROBE_SOURCE, version)
      : getSourceFile.call(host, name, version, ...rest);
  host.fileExists = (name) => name === PROBE || fileExists.call(host, name);
  host.readFile = (name) => (name === PROBE ? PROBE_SOURCE : readFile.call(host, name));
  const program = ts.createProgram([PROBE], options, host);
  const checker = program.getTypeChecker();
  const file = program.getSourceFile(PROBE);
  if (!file) throw new Error('the probe was not compiled');
  const diagnostics = ts
    .getPreEmitDiagnostics(program, file)
    .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));

  const names = (type: ts.Type) =>
    checker
      .getPropertiesOfType(type)
      .filter(isPublic)
      .map((s) => s.name)
      .sort();
  const tupleOf = (type: ts.Type) => checker.getTypeArguments(type as ts.TypeReference);
  const alias = (name: string) => {
    const decl = file.statements.find(
      (s): s is ts.TypeAliasDeclaration => ts.isTypeAliasDeclaration(s) && s.name.text === name,
    );
    if (!decl) throw new Error(`the probe has no type ${name}`);
    return checker.getTypeAtLocation(decl.name);
  };

  const pairs = new Map<string, [string[], string[]]>();
  for (const pair of checker.getPropertiesOfType(alias('Pairs'))) {
    const [official, ours] = tupleOf(checker.getTypeOfSymbol(pair));
    if (!official || !ours) throw new Error(`${pair.name} is not a pair`);
    pairs.set(pair.name, [names(official), names(ours)]);
  }
  const moduleExports = (specifier: string) => {
    const decl = file.statements.find(
      (s): s is ts.ImportDeclaration =>
        ts.isImportDeclaration(s) &&
        ts.isStringLiteral(s.moduleSpecifier) &&
        s.moduleSpecifier.text === specifier,
    );
    const module = decl && checker.getSymbolAtLocation(decl.moduleSpecifier);
    if (!module) throw new Error(`${specifier} did not resolve`);
    return new Map(checker.getExportsOfModule(module).map((s) => [s.name, s]));
  };
  const official = moduleExports('@databricks/lakebase');
  const ours = moduleExports('@lakebase-kit/core');
  /** The keys of an exported interface or object type alias (undefined for values). */
  const typeKeys = (exported: ts.Symbol) => {
    const symbol =
      exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    if (!(symbol.flags & (ts.SymbolFlags.Interface | ts.SymbolFlags.TypeAlias))) return undefined;
    const keys = names(checker.getDeclaredTypeOfSymbol(symbol));
    return keys.length > 0 ? keys : undefined;
  };
  const driverTypeKeys = new Map<string, [string[], string[]]>();
  for (const [name, symbol] of official) {
    const theirs = typeKeys(symbol);
    const mine = ours.get(name);
    if (theirs && mine) driverTypeKeys.set(name, [theirs, typeKeys(mine) ?? []]);
  }
  return {
    pairs,
    driverExports: [[...official.keys()].sort(), [...ours.keys()].sort()],
    driverTypeKeys,
    diagnostics,
  };
}

const missing = ([official, ours]: [string[], string[]]) =>
  official.filter((name) => !ours.includes(name));

let probe: Probe;
beforeAll(() => {
  probe = loadProbe();
}, 60_000);

describe('parity with the official packages', () => {
  it('reads the official declarations (no type errors, nothing compared vacuously)', () => {
    expect(officialDriverPackage.version).toBe('0.6.0');
    expect(probe.diagnostics).toEqual([]);
    expect(probe.driverExports[0].length).toBeGreaterThan(10);
    for (const [name, [official]] of probe.pairs) {
      expect(official.length, name).toBeGreaterThan(0);
    }
  });

  it('@lakebase-kit/core exports every name of @databricks/lakebase 0.6.0', () => {
    expect(missing(probe.driverExports)).toEqual([]);
  });

  it('every object type of @databricks/lakebase 0.6.0 has all its keys in core', () => {
    // LakebasePoolConfig, DatabaseCredential, DriverTelemetry, TokenRefreshDeps, Logger, ...
    expect(probe.driverTypeKeys.size).toBeGreaterThan(5);
    const gaps = [...probe.driverTypeKeys]
      .map(([name, pair]) => [name, missing(pair)] as const)
      .filter(([, keys]) => keys.length > 0);
    expect(Object.fromEntries(gaps)).toEqual({});
  });

  it.each([
    'lakebase() config keys',
    'lakebase({ pool }) keys',
    'lakebase({ exposeAsAgentTool }) keys',
    'AppKit.lakebase exports() keys',
    'plugin instance members (agent-tool methods included)',
    'plugin class statics',
    'plugin.asUser(req) agent-tool methods',
    '@databricks/lakebase LakebasePoolConfig keys',
  ])('%s: none of the official ones is missing', (name) => {
    const pair = probe.pairs.get(name);
    expect(pair, name).toBeDefined();
    expect(missing(pair as [string[], string[]])).toEqual([]);
  });

  it.each([true, false])(
    'the query tool (readOnly: %s) is the official one: definition and toolkit entry',
    (readOnly) => {
      const config = { name: 'lakebase', exposeAsAgentTool: { readOnly } };
      const silent = { warn: false };
      const official = new (officialLakebase(config).plugin)(config);
      const ours = new (ourLakebase(config).plugin)({ ...config, logger: silent, doctor: false });
      expect(ours.getAgentTools()).toEqual(official.getAgentTools());
      expect(ours.toolkit()).toEqual(official.toolkit());
      const options = { prefix: 'db_', rename: {}, except: ['other'] };
      expect(ours.toolkit(options)).toEqual(official.toolkit(options));
      expect(ours.toolkit({ only: ['other'] })).toEqual({});
      expect(ours.toolkit({ rename: { query: 'sql' } })).toEqual(
        official.toolkit({ rename: { query: 'sql' } }),
      );
    },
  );
});
