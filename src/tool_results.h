/* tool_results.h - `taskfarm results`: the records of a results file, as
 * TSV or JSON lines, or one task's output */
#ifndef TF_TOOL_RESULTS_H
#define TF_TOOL_RESULTS_H

/*
 * `taskfarm results FILE [--format tsv|jsonl] [--all]` and
 * `taskfarm results FILE --task N`: the whole subcommand; ARGV[0] is
 * "results". Prints to standard output the last record of each task in task
 * order (every task record in file order with --all), as TSV or JSON lines;
 * or, with --task N, task N's stdout bytes to standard output and its stderr
 * bytes to standard error, exactly. Diagnostics go to standard error, one
 * line each, including a note when a torn tail was ignored. Returns the exit
 * status: 0 done, 1 no record of task N, 2 usage error or a missing,
 * unreadable, foreign or corrupt file, 3 a read or write error.
 */
int tf__results_main(int argc, char **argv);

#endif /* TF_TOOL_RESULTS_H */
