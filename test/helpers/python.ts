import { existsSync } from "node:fs";

/** Debian's python3 (the generated Dagster code is checked with it; no Python package is installed). */
export const PYTHON = existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
