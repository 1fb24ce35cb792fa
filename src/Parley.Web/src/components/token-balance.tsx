import { CoinIcon } from './icons';

interface TokenBalanceProps {
  balance: number | null;
  costPerMessage: number | null;
}

const format = new Intl.NumberFormat();

/** The user's token balance, always in the header. */
export function TokenBalance({ balance, costPerMessage }: TokenBalanceProps) {
  const low = balance !== null && costPerMessage !== null && balance < costPerMessage;
  const title =
    costPerMessage !== null ? `Each message costs ${format.format(costPerMessage)} tokens` : 'Your token balance';
  return (
    <p
      title={title}
      className={`flex shrink-0 items-center gap-1.5 rounded-full border px-2.5 py-1 text-xs font-medium tabular-nums ${
        low ? 'border-red-200 bg-red-50 text-red-700' : 'border-zinc-200 bg-white text-zinc-700'
      }`}
    >
      <CoinIcon width={14} height={14} />
      <span className="sr-only">Token balance:</span>
      <span data-testid="token-balance" data-balance={balance ?? ''}>
        {balance === null ? '…' : format.format(balance)}
      </span>
      <span className="max-[380px]:sr-only">tokens</span>
      {balance !== null && costPerMessage !== null && costPerMessage > 0 && (
        <span data-testid="messages-left" className="border-l border-current/20 pl-1.5 max-sm:sr-only">
          ≈ {format.format(Math.floor(balance / costPerMessage))}{' '}
          {Math.floor(balance / costPerMessage) === 1 ? 'message' : 'messages'} left
        </span>
      )}
    </p>
  );
}
