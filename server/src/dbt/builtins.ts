/**
 * The names the Jinja scanner does not report as macro calls: Jinja and dbt builtins, objects that
 * are not macro packages, and method names of Python values.
 */

/**
 * Bare function names that are not user macros: Jinja globals, dbt context functions, and names that
 * are keywords of the expression language.
 */
export const NOT_MACROS = new Set([
  // handled specially
  "ref", "source", "config", "var",
  // Jinja globals and loop helpers
  "range", "lipsum", "dict", "list", "cycler", "joiner", "namespace", "loop", "caller", "super", "self",
  "varargs", "kwargs",
  // dbt context functions and objects
  "env_var", "return", "log", "print", "is_incremental", "run_query", "statement", "load_result",
  "store_result", "store_raw_result", "zip", "zip_strict", "set", "set_strict", "tojson", "fromjson",
  "toyaml", "fromyaml", "local_md5", "exceptions", "adapter", "modules", "this", "target", "graph",
  "api", "builtins", "doc", "metric", "write", "render", "as_bool", "as_native", "as_number", "as_text",
  "diff_of_two_dicts", "try_or_compiler_error", "debug", "load_agate_table", "submit_python_job",
  "context", "flags", "model", "invocation_args_dict", "selected_resources",
  // expression-language keywords that may precede a parenthesis
  "and", "or", "not", "in", "is", "if", "else", "elif", "for", "recursive", "import", "as", "with",
  "without", "from", "true", "false", "none", "True", "False", "None",
]);

/**
 * Heads of `head.name(` that are objects, not macro packages. `dbt` is deliberately absent:
 * `dbt.date_trunc(...)` etc. are dbt's own cross-database macros and are reported as written.
 */
export const NOT_PACKAGES = new Set([
  "adapter", "exceptions", "modules", "builtins", "this", "target", "graph", "api", "loop", "caller",
  "self", "context", "kwargs", "varargs", "model", "config", "flags", "invocation_args_dict",
  "run_started_at", "selected_resources", "results", "node", "var", "env_var", "return", "zip",
  "namespace", "dict", "list", "range", "super", "sources", "schemas", "database_schemas",
]);

/**
 * Method names of Python values (str, list, dict, datetime) and dbt Relation / Column / agate
 * objects: `x.items()` / `relation.include(...)` are method calls, never macro calls.
 */
export const VALUE_METHODS = new Set([
  "items", "keys", "values", "get", "append", "extend", "update", "pop", "popitem", "insert", "remove",
  "setdefault", "copy", "clear", "sort", "reverse", "count", "index", "has_key",
  "upper", "lower", "strip", "lstrip", "rstrip", "split", "rsplit", "splitlines", "replace", "format",
  "join", "startswith", "endswith", "title", "capitalize", "casefold", "find", "rfind", "isdigit",
  "isnumeric", "isalpha", "isalnum", "isupper", "islower", "isspace", "zfill", "encode", "decode",
  "partition", "rpartition", "center", "ljust", "rjust", "swapcase", "isdecimal", "isidentifier",
  "removeprefix", "removesuffix",
  "strftime", "strptime", "isoformat", "timestamp", "date", "time", "astimezone", "weekday",
  "isoweekday", "today", "now", "utcnow", "fromisoformat", "total_seconds",
  "include", "incorporate", "replace_path", "quote", "without_identifier", "create", "create_from",
  "is_string", "is_number", "is_numeric", "is_float", "is_integer", "string_size", "can_expand_to",
  "literal", "print_table", "print_json", "print_csv", "select", "where", "order_by", "limit",
]);
