// Where the app lives: "/" normally, "/api/hassio_ingress/<id>/" behind Home Assistant's
// ingress proxy. The server writes it into index.html as <base href>; every URL the app
// builds (API, WebSocket, page paths) goes through these helpers.

/** Normalise a base path to start and end with "/" ("" -> "/"). */
export function normaliseBase(path: string): string {
  let p = path.startsWith("/") ? path : `/${path}`;
  if (!p.endsWith("/")) p += "/";
  return p;
}

/** The app's base path from <base href> (the document's URL when there is none). */
export function basePath(): string {
  if (typeof document === "undefined") return "/";
  return normaliseBase(new URL(document.baseURI).pathname);
}

/** "/api/hassio_ingress/x/planning" with base "/api/hassio_ingress/x/" -> "/planning". */
export function appPath(pathname: string, base: string = basePath()): string {
  const b = normaliseBase(base);
  if (pathname.startsWith(b)) return `/${pathname.slice(b.length)}`;
  if (`${pathname}/` === b) return "/";
  return pathname;
}

/** "/planning" with base "/api/hassio_ingress/x/" -> "/api/hassio_ingress/x/planning". */
export function fullPath(path: string, base: string = basePath()): string {
  return normaliseBase(base) + path.replace(/^\/+/, "");
}
