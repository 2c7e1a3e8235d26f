/**
 * The right-click menu on assets and groups: an HTML list of buttons, keyboard-driven
 * (arrows, Enter, Escape), closed by a click elsewhere, a scroll or losing focus.
 */
export interface MenuItem {
  label: string;
  /** Stable name for tests and styling (`materialize-upstream`, ...). */
  id: string;
  run: () => void;
}

export class ContextMenu {
  private returnFocus: HTMLElement | null = null;

  constructor(private readonly host: HTMLElement) {
    host.setAttribute("role", "menu");
    host.addEventListener("click", (e) => {
      const item = (e.target as Element).closest<HTMLButtonElement>("button[data-item]");
      if (!item) return;
      const run = this.actions.get(item.dataset.item!);
      this.hide();
      run?.();
    });
    host.addEventListener("keydown", (e) => {
      const items = [...host.querySelectorAll<HTMLButtonElement>("button[data-item]")];
      const at = items.indexOf(document.activeElement as HTMLButtonElement);
      if (e.key === "ArrowDown") items[(at + 1) % items.length]?.focus();
      else if (e.key === "ArrowUp") items[(at - 1 + items.length) % items.length]?.focus();
      else if (e.key === "Escape" || e.key === "Tab") this.hide();
      else return;
      e.preventDefault();
    });
    const close = (e: Event): void => {
      if (!host.hidden && !host.contains(e.target as Node)) this.hide(false);
    };
    window.addEventListener("pointerdown", close, true);
    window.addEventListener("wheel", close, true);
    window.addEventListener("blur", () => this.hide(false));
  }

  private actions = new Map<string, () => void>();

  get open(): boolean {
    return !this.host.hidden;
  }

  show(items: MenuItem[], x: number, y: number, title?: string): void {
    this.returnFocus = document.activeElement as HTMLElement | null;
    this.actions = new Map(items.map((i) => [i.id, i.run]));
    const children: HTMLElement[] = [];
    if (title) {
      const head = document.createElement("div");
      head.className = "menu-title";
      head.textContent = title;
      children.push(head);
    }
    for (const item of items) {
      const b = document.createElement("button");
      b.type = "button";
      b.dataset.item = item.id;
      b.setAttribute("role", "menuitem");
      b.textContent = item.label;
      children.push(b);
    }
    this.host.replaceChildren(...children);
    this.host.hidden = false;
    const r = this.host.getBoundingClientRect();
    this.host.style.left = `${Math.max(4, Math.min(x, window.innerWidth - r.width - 4))}px`;
    this.host.style.top = `${Math.max(4, Math.min(y, window.innerHeight - r.height - 4))}px`;
    this.host.querySelector<HTMLButtonElement>("button")?.focus();
  }

  hide(restoreFocus = true): void {
    if (this.host.hidden) return;
    this.host.hidden = true;
    this.host.replaceChildren();
    if (restoreFocus) this.returnFocus?.focus?.({ preventScroll: true });
  }
}
