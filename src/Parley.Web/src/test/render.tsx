import { render } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import type { ReactElement } from 'react';
import type { ApiClient } from '../lib/api';
import { ApiContext } from '../lib/api-context';

export function renderWithApi(ui: ReactElement, api: ApiClient) {
  const user = userEvent.setup();
  return { user, ...render(<ApiContext.Provider value={api}>{ui}</ApiContext.Provider>) };
}
