import { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import type { ParameterReader } from '../../core/config.js';

const provider = new SSMProvider();

/** Powertools Parameters over SSM, cached for five minutes; a missing parameter is no error. */
export const ssmParameters: ParameterReader = async (name) => {
  try {
    return (await provider.get(name, { transform: 'json', maxAge: 300 })) ?? undefined;
  } catch (error) {
    const cause = (error as { cause?: { name?: string } }).cause?.name ?? (error as Error).name;
    if (/ParameterNotFound/.test(cause) || /ParameterNotFound/.test((error as Error).message)) return undefined;
    throw error;
  }
};
