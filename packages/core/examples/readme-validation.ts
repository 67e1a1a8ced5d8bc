import { ConfigurationError, createLakebasePool, ValidationError } from '@lakebase-kit/core';

try {
  createLakebasePool({ host: 'h', database: 'd', endpoint: 'projects/x' });
} catch (error) {
  // missing (ConfigurationError) or malformed (ValidationError): both name the option and env
  if (error instanceof ConfigurationError || error instanceof ValidationError)
    console.log(error.option, error.envVar, error.message);
  // endpoint LAKEBASE_ENDPOINT Invalid Lakebase endpoint "projects/x" (option "endpoint" / env LAKEBASE_ENDPOINT): …
}
