/**
 * A copy of a pg query config (`{ text, values, name, rowMode, ... }`, or an object of a class
 * such as sql-template-strings' `SQLStatement`, whose `text` is a getter): its own properties
 * and its prototype, so pg reads from the copy what it would have read from the original.
 *
 * pg before 8.23.1 writes the callback it is given (and `values`) onto the config object itself.
 * Where the kit turns a caller's promise-form `query(config)` into pg's callback form, it hands
 * pg a copy, so the caller's object is never changed: a config reused for a second query (a
 * named statement, typically) must not carry the first call's callback.
 */
export function copyQueryConfig<T extends object>(config: T, changes?: Record<string, unknown>): T {
  // a plain object (what most callers and every ORM pass): a spread, the cheapest copy
  if (Object.getPrototypeOf(config) === Object.prototype) return { ...config, ...changes };
  const copy = Object.create(
    Object.getPrototypeOf(config),
    Object.getOwnPropertyDescriptors(config),
  ) as T;
  if (changes) {
    for (const key of Object.keys(changes)) {
      Object.defineProperty(copy, key, {
        value: changes[key],
        writable: true,
        enumerable: true,
        configurable: true,
      });
    }
  }
  return copy;
}
