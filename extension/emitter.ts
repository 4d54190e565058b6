/** A minimal event emitter (the extension's logic modules do not depend on `vscode`). */
export interface Disposable {
  dispose(): void;
}

export class Emitter<T> {
  private readonly listeners = new Set<(value: T) => void>();

  readonly event = (listener: (value: T) => void): Disposable => {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  };

  fire(value: T): void {
    for (const l of [...this.listeners]) {
      try {
        l(value);
      } catch (e) {
        console.error('teechat: listener failed', e);
      }
    }
  }

  dispose(): void {
    this.listeners.clear();
  }
}
