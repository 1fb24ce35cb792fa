import { createContext, useContext } from 'react';
import { api, type ApiClient } from './api';

/** The API client the components use; tests provide one with a fake fetch. */
export const ApiContext = createContext<ApiClient>(api);

export function useApi(): ApiClient {
  return useContext(ApiContext);
}
