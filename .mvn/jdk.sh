# Sourced by ./mvnw and ./lguest: the project targets Java 25, while the machines'
# default java is older. When JAVA_HOME does not already name a JDK 25 or newer,
# pick the newest one installed under /usr/lib/jvm.
# A JDK's major version: from its release file when it has one (every JDK since 9
# does), which costs nothing; else from the java command itself, which costs a JVM
# start (about a tenth of a second of every ./lguest, more on a loaded machine).
lguest_java_major() {
  if [ -f "$1/release" ] && grep -q '^JAVA_VERSION="[0-9]' "$1/release"; then
    sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$1/release"
  else
    "$1/bin/java" -XshowSettings:properties -version 2>&1 |
      sed -n 's/^ *java.specification.version = \([0-9]*\).*/\1/p'
  fi
}
if [ -z "${JAVA_HOME-}" ] || [ ! -x "$JAVA_HOME/bin/java" ] ||
   [ "$(lguest_java_major "$JAVA_HOME")" -lt 25 ] 2>/dev/null; then
  for candidate in $(find /usr/lib/jvm -mindepth 1 -maxdepth 1 -type d 2>/dev/null | sort -rV); do
    candidate=${candidate%/}
    if [ -x "$candidate/bin/javac" ] && [ "$(lguest_java_major "$candidate")" -ge 25 ] 2>/dev/null; then
      JAVA_HOME=$candidate
      export JAVA_HOME
      break
    fi
  done
fi
