/**
 * Query configs as applications pass them to pg: a class whose `text` is a getter on its
 * prototype (as sql-template-strings' `SQLStatement` is), and a snapshot of a config's own
 * properties, to show that the kit handed pg a copy and left the caller's object as it was.
 */
export class TemplateStatement {
  name?: string;
  constructor(
    readonly strings: readonly string[],
    readonly values: unknown[],
  ) {}

  /** `$1`, `$2`, ... between the strings, as sql-template-strings builds it. */
  get text(): string {
    return this.strings.reduce((text, part, i) => `${text}$${i}${part}`);
  }

  setName(name: string): this {
    this.name = name;
    return this;
  }
}

/** `SQL\`select ${1}\``: a TemplateStatement. */
export function SQL(strings: TemplateStringsArray, ...values: unknown[]): TemplateStatement {
  return new TemplateStatement([...strings], values);
}

/** The own property names of a config, sorted (what pg before 8.23.1 would add to). */
export function ownKeys(config: object): string[] {
  return Object.keys(config).sort();
}
