// What an environment (= stack) name may be: the one definition that the catalog, the API
// schemas and the configuration all check names against, before a name reaches the
// filesystem, the database or the CLI.
export const ENVIRONMENT_NAME_PATTERN = '^[a-z][a-z0-9-]{0,62}$';
export const ENVIRONMENT_NAME = new RegExp(ENVIRONMENT_NAME_PATTERN);
