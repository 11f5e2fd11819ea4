import { useStore } from "../lib/hooks";
import { banner, dismissAllErrors, dismissError } from "../lib/store";

export function ErrorBanner() {
  const messages = useStore(banner);
  if (!messages.length) return null;
  return (
    <div className="error-banner" role="alert" data-testid="error-banner">
      <ul>
        {messages.map((m) => (
          <li key={m.id} title={m.count > 1 ? `${m.count} times` : undefined}>
            <span className="error-text">{m.text}</span>
            {/* labels via CSS content, so the banner's text is only the messages */}
            <button type="button" className="icon-btn dismiss" aria-label="Dismiss" title="Dismiss" onClick={() => dismissError(m.id)} />
          </li>
        ))}
      </ul>
      {messages.length > 1 ? (
        <button type="button" className="link-btn dismiss-all" aria-label="Dismiss all" onClick={dismissAllErrors} />
      ) : null}
    </div>
  );
}
