package dev.lguest.itests;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a guest printed as TAP (the Test Anything Protocol), read back: the plan
 * ("1..N"), every test line ("ok 3 - name", "not ok 4 - name # TODO why") and the
 * test kernel's summary ("# passed P failed F"), and with loop=N its line per pass
 * ("# pass K: passed P failed F"). Lines that are none of these
 * (diagnostics, anything else) are ignored.
 */
final class TapReport {
    private static final Pattern PLAN = Pattern.compile("^1\\.\\.(\\d+)$");
    private static final Pattern TEST = Pattern.compile("^(not ok|ok) (\\d+)(?: - (.*?))?(?:\\s#\\s*(TODO|SKIP)\\b(.*))?$");
    private static final Pattern SUMMARY = Pattern.compile("^# passed (\\d+) failed (\\d+)$");
    private static final Pattern PASS = Pattern.compile("^# pass (\\d+): passed (\\d+) failed (\\d+)$");

    /** The self-test loop's line for one pass (loop=N): "# pass K: passed P failed F". */
    record Pass(int number, int passed, int failed) {
    }

    /** One test line. {@code directive} is TODO, SKIP or null. */
    record Line(boolean ok, int number, String name, String directive, String text) {
        boolean isTodo() {
            return "TODO".equals(directive);
        }
    }

    final int plan;
    final List<Line> tests;
    final int summaryPassed;
    final int summaryFailed;
    final boolean planFirst;
    final List<Pass> passes;

    private TapReport(int plan, List<Line> tests, int summaryPassed, int summaryFailed, boolean planFirst,
                      List<Pass> passes) {
        this.plan = plan;
        this.tests = tests;
        this.summaryPassed = summaryPassed;
        this.summaryFailed = summaryFailed;
        this.planFirst = planFirst;
        this.passes = passes;
    }

    /** Reads TAP out of console output; plan and summary are -1 when absent. */
    static TapReport parse(String output) {
        int plan = -1;
        int passed = -1;
        int failed = -1;
        boolean planFirst = false;
        boolean seenAnything = false;
        List<Line> tests = new ArrayList<>();
        List<Pass> passes = new ArrayList<>();
        for (String raw : output.split("\\R")) {
            String line = raw.strip();
            if (line.isEmpty()) {
                continue;
            }
            Matcher m = PLAN.matcher(line);
            if (m.matches() && plan < 0) {
                plan = Integer.parseInt(m.group(1));
                planFirst = !seenAnything;
                seenAnything = true;
                continue;
            }
            seenAnything = true;
            m = TEST.matcher(line);
            if (m.matches()) {
                String name = m.group(3) == null ? "" : m.group(3).strip();
                tests.add(new Line(m.group(1).equals("ok"), Integer.parseInt(m.group(2)), name, m.group(4), line));
                continue;
            }
            m = SUMMARY.matcher(line);
            if (m.matches()) {
                passed = Integer.parseInt(m.group(1));
                failed = Integer.parseInt(m.group(2));
                continue;
            }
            m = PASS.matcher(line);
            if (m.matches()) {
                passes.add(new Pass(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)),
                        Integer.parseInt(m.group(3))));
            }
        }
        return new TapReport(plan, List.copyOf(tests), passed, failed, planFirst, List.copyOf(passes));
    }

    /** Failed tests that are not marked TODO: what must make a build fail. */
    List<Line> realFailures() {
        return tests.stream().filter(t -> !t.ok() && !t.isTodo()).toList();
    }

    List<String> names() {
        return tests.stream().map(Line::name).toList();
    }
}
