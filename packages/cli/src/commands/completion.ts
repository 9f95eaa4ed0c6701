/**
 * `tsmicro completion bash|zsh` prints a completion script: commands, flags, and (for commands
 * that take a service) the names registered right now, asked through `tsmicro completion services`.
 */
import { UsageError } from "../args.js";
import type { Command } from "../context.js";

/** Filled in by main.ts (it owns the command table; importing it here would be a cycle). */
export const completionWords = { commands: [] as string[], flags: [] as string[] };

/** Commands whose first argument is a service name. */
const TAKES_SERVICE = ["describe", "call", "stream", "health", "inflight", "watch"];

function bash(): string {
  const { commands, flags } = completionWords;
  return `# tsmicro completion for bash: eval "$(tsmicro completion bash)" (e.g. in ~/.bashrc)
_tsmicro() {
  local cur="\${COMP_WORDS[COMP_CWORD]}"
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "${flags.join(" ")}" -- "$cur"))
  elif [[ $COMP_CWORD -eq 1 ]]; then
    COMPREPLY=($(compgen -W "${commands.join(" ")}" -- "$cur"))
  elif [[ $COMP_CWORD -eq 2 ]]; then
    case "\${COMP_WORDS[1]}" in
      ${TAKES_SERVICE.join("|")}) COMPREPLY=($(compgen -W "$(tsmicro completion services 2>/dev/null)" -- "$cur")) ;;
      completion) COMPREPLY=($(compgen -W "bash zsh" -- "$cur")) ;;
      new) ;;
      *) COMPREPLY=($(compgen -f -- "$cur")) ;;
    esac
  fi
}
complete -F _tsmicro tsmicro
`;
}

function zsh(): string {
  const { commands, flags } = completionWords;
  return `#compdef tsmicro
# tsmicro completion for zsh: eval "$(tsmicro completion zsh)" (e.g. in ~/.zshrc, after compinit)
_tsmicro() {
  if [[ "\${words[CURRENT]}" == -* ]]; then
    compadd -- ${flags.join(" ")}
  elif (( CURRENT == 2 )); then
    compadd -- ${commands.join(" ")}
  elif (( CURRENT == 3 )); then
    case "\${words[2]}" in
      ${TAKES_SERVICE.join("|")}) compadd -- \${(f)"$(tsmicro completion services 2>/dev/null)"} ;;
      completion) compadd -- bash zsh ;;
      *) _files ;;
    esac
  fi
}
compdef _tsmicro tsmicro
`;
}

export const completion: Command = {
  usage: "completion <bash|zsh>",
  summary: 'print a shell completion script: eval "$(tsmicro completion bash)"',
  minArgs: 1,
  maxArgs: 1,
  async run({ args, out, registry }) {
    const what = args[0]!;
    if (what === "bash") out.line(bash().trimEnd());
    else if (what === "zsh") out.line(zsh().trimEnd());
    else if (what === "services") {
      const reg = await registry();
      const names = new Set((await reg.listServices()).map((s) => s.name));
      for (const n of [...names].sort()) out.line(n);
    } else throw new UsageError(`choose bash or zsh, got "${what}"`);
    return 0;
  },
};
