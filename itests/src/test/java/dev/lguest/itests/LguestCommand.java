package dev.lguest.itests;

import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceReference;

import java.lang.reflect.Method;

import static org.junit.Assert.assertTrue;

/**
 * Calls an lguest:* Gogo command the way Gogo does: a public method of the command
 * service that lists the function. Several bundles offer commands in the lguest scope
 * (the shell's, the debugger's), so the service is found by the function's name.
 */
final class LguestCommand {
    private LguestCommand() {
    }

    static String call(BundleContext context, String name, Object... args) throws Exception {
        ServiceReference<?>[] refs = context.getServiceReferences((String) null,
                "(&(osgi.command.scope=lguest)(osgi.command.function=" + name + "))");
        assertTrue("the lguest:" + name + " command is registered", refs != null && refs.length == 1);
        Object commands = context.getService(refs[0]);
        try {
            for (Method m : commands.getClass().getMethods()) {
                if (m.getName().equals(name) && m.getParameterCount() == args.length) {
                    return (String) m.invoke(commands, args);
                }
            }
            throw new AssertionError("no command lguest:" + name);
        } finally {
            context.ungetService(refs[0]);
        }
    }
}
