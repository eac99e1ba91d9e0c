/*
 * Runs the skytrain shared library's vars/*.groovy with the real Groovy, with every Jenkins
 * step bound to a closure that records the call, and checks the sequence of calls for a
 * branch build, a feature-branch build, a pull-request build (with and without the
 * pullRequest comment step), a failed gate and a refused approval.
 *
 *   skytrain pipeline show examples/giphy --format json | \
 *       JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64 groovy jenkins/test/harness.groovy -
 *
 * The argument is a file holding `skytrain pipeline show examples/giphy --format json`, or `-`
 * to read it from standard input. Not `<(...)`: the groovy launcher's JVM reads a process
 * substitution's /dev/fd path as empty. Prints one TAP line per case; exits 1 when a case fails.
 */

File library = new File(getClass().protectionDomain.codeSource.location.path).parentFile.parentFile
String pipelineJson = args[0] == '-' ? System.in.text : new File(args[0]).text

/** Jenkins as the library sees it: recorded steps, a scripted `sh`, and the build's env. */
class FakeJenkins {
    List<String> calls = []
    Map env
    Map currentBuild = [result: null]
    List<String> failingScripts = []
    boolean approves = true
    boolean hasPullRequest = true
    Map<String, String> stdout = [:]
    Map<String, Script> library = [:]

    Binding binding() {
        Binding b = new Binding()
        b.env = env
        b.scm = 'scm'
        b.currentBuild = currentBuild
        b.node = { label, Closure body -> record("node ${label}"); body() }
        b.stage = { name, Closure body -> record("stage ${name}"); body() }
        b.checkout = { scm -> record('checkout') }
        b.sh = { arg -> runSh(arg) }
        b.junit = { Map options -> record("junit ${options.testResults}") }
        b.input = { Map options ->
            record("input ${options.message} [${options.ok}]")
            if (!approves) {
                throw new InterruptedException('Aborted by jenkins-admin')
            }
        }
        b.milestone = { Map options -> record("milestone ${options.label}") }
        b.lock = { Map options, Closure body -> record("lock ${options.resource}"); body() }
        b.timeout = { Map options, Closure body -> record("timeout ${options.time} ${options.unit}"); body() }
        b.withCredentials = { List bindings, Closure body -> record("withCredentials ${bindings}"); body() }
        b.file = { Map o -> "file(${o.credentialsId} as ${o.variable})".toString() }
        b.string = { Map o -> "string(${o.credentialsId} as ${o.variable})".toString() }
        b.usernamePassword = { Map o ->
            "usernamePassword(${o.credentialsId} as ${o.usernameVariable}:${o.passwordVariable})".toString()
        }
        b.echo = { message -> record("echo ${message}") }
        b.error = { message -> record("error ${message}"); throw new IllegalStateException(message.toString()) }
        b.writeFile = { Map options -> record("writeFile ${options.file}") }
        b.archiveArtifacts = { Map options -> record("archiveArtifacts ${options.artifacts}") }
        if (hasPullRequest) {
            b.pullRequest = [comment: { String text -> record("pullRequest.comment ${text.readLines()[0]}") }]
        }
        for (String name in ['skytrainDeploy', 'skytrainDiff']) {
            String step = name
            b.setVariable(step, { Map options = [:] ->
                record("${step} ${options.findAll { k, v -> k in ['stage', 'environment', 'target'] }}")
                library[step].call(options)
            })
        }
        return b
    }

    void record(Object call) {
        calls.add(call.toString())
    }

    Object runSh(Object arg) {
        String script = (arg instanceof Map ? arg.script : arg).toString()
        record("sh ${script}")
        if (failingScripts.any { script.contains(it) }) {
            throw new RuntimeException("script returned exit code 1")  // what Jenkins' sh throws on failure
        }
        if (arg instanceof Map && arg.returnStdout) {
            String key = stdout.keySet().find { script.contains(it) }
            assert key != null: "no scripted output for: ${script}"
            return stdout[key]
        }
        return null
    }
}

Map<String, Script> loaded = [:]
GroovyShell shell = new GroovyShell(this.class.classLoader)
shell.classLoader.addClasspath(new File(library, 'src').path)
for (String name in ['skytrainPipeline', 'skytrainDeploy', 'skytrainDiff']) {
    loaded[name] = shell.parse(new File(library, "vars/${name}.groovy"))
}

/** Run one build; returns the Jenkins it ran on and the exception that ended it, if any. */
def build = { Map envVars, Closure setup = {}, String step = 'skytrainPipeline', Map options = [:] ->
    FakeJenkins jenkins = new FakeJenkins(env: envVars, library: loaded)
    jenkins.stdout['pipeline show'] = pipelineJson
    jenkins.stdout['skytrain diff'] = '## skytrain diff\n| environment | changed |\n'
    setup(jenkins)
    Binding binding = jenkins.binding()
    loaded.values().each { it.binding = binding }
    Throwable failure = null
    try {
        loaded[step].call(options)
    } catch (Throwable t) {
        failure = t
    }
    return [jenkins, failure]
}

String creds(String env) {
    "withCredentials [file(skytrain-kubeconfig-${env} as KUBECONFIG), " +
        "usernamePassword(skytrain-marathon-${env} as MARATHON_USER:MARATHON_PASSWORD)]"
}

List<String> deployCalls(String env) {
    [
        "stage Deploy ${env}",
        'lock skytrain-giphy',
        "milestone deploying ${env}",
        "skytrainDeploy [stage:${env}]",
        creds(env),
        "sh skytrain pipeline run . --from ${env} --until ${env} --yes --junit reports/skytrain/${env}.xml",
        "junit reports/skytrain/${env}.xml",
    ]*.toString()
}

List<String> validateCalls = [
    'stage Validate',
    'sh skytrain pipeline run . --until validate --junit reports/skytrain/validate.xml',
    'junit reports/skytrain/validate.xml',
]
List<String> start = ['node null', 'stage Checkout', 'checkout']
List<String> approval = [
    'stage Approve production',
    'milestone approving production',
    'timeout 1440 MINUTES',
    'input Deploy giphy to production? [Deploy to production]',
]

Map cases = [:]

cases['branch build: validate, dev, staging, approval, production in order'] = {
    def (jenkins, failure) = build([BRANCH_NAME: 'master'])
    assert failure == null
    assert jenkins.calls == start + ['sh skytrain pipeline show . --format json'] + validateCalls +
        ['milestone validated'] + deployCalls('dev') + deployCalls('staging') +
        approval + ['milestone approved production'] + deployCalls('production')
}

cases['feature branch build: validates, never deploys'] = {
    def (jenkins, failure) = build([BRANCH_NAME: 'feature/gifs'])
    assert failure == null
    assert jenkins.calls == start + ['sh skytrain pipeline show . --format json'] + validateCalls +
        ['echo skytrain: feature/gifs is not a deploy branch (master, main); validated only']
}

cases['pull-request build: diff posted as a comment, then validate, no deploy'] = {
    def (jenkins, failure) = build([BRANCH_NAME: 'PR-42', CHANGE_ID: '42', CHANGE_TARGET: 'master'])
    assert failure == null
    assert jenkins.calls == start + [
        'skytrainDiff [:]',
        'stage Diff',
        'sh git fetch --no-tags origin +refs/heads/master:refs/remotes/origin/master',
        'sh skytrain diff . --all-envs --against origin/master --format markdown',
        'writeFile reports/skytrain/diff.md',
        'pullRequest.comment ## skytrain diff',
    ] + validateCalls
}

cases['pull-request build without the pullRequest step: diff archived'] = {
    def (jenkins, failure) = build([BRANCH_NAME: 'PR-7', CHANGE_ID: '7', CHANGE_TARGET: 'main']) {
        it.hasPullRequest = false
    }
    assert failure == null
    int written = jenkins.calls.indexOf('writeFile reports/skytrain/diff.md')
    assert jenkins.calls[written + 1..written + 2] == [
        'echo skytrain: no pullRequest step (pipeline-github plugin); the diff is archived instead',
        'archiveArtifacts reports/skytrain/diff.md',
    ]
    assert !jenkins.calls.any { it.startsWith('skytrainDeploy') || it.startsWith('withCredentials') }
}

cases['failed gate in staging: report recorded, build fails, production never starts'] = {
    def (jenkins, failure) = build([BRANCH_NAME: 'master']) { it.failingScripts = ['--from staging'] }
    assert failure instanceof RuntimeException && failure.message == 'script returned exit code 1'
    List<String> expected = deployCalls('staging')
    assert jenkins.calls[-expected.size()..-1] == expected  // junit ran after the failed sh
    assert !jenkins.calls.any { it.contains('production') }
}

cases['refused approval: build aborted, production never deployed'] = {
    def (jenkins, failure) = build([BRANCH_NAME: 'main']) { it.approves = false }
    assert failure instanceof InterruptedException
    assert jenkins.currentBuild.result == 'ABORTED'
    assert jenkins.calls[-approval.size() - 1..-1] ==
        approval + ['echo skytrain: production was not approved; nothing was deployed to production or later']
    assert !jenkins.calls.any { it.contains('--from production') || it == 'stage Deploy production' }
}

cases['skytrainDeploy alone: one environment and target, plain deploy'] = {
    def (jenkins, failure) = build([BRANCH_NAME: 'master'], {}, 'skytrainDeploy',
        [environment: 'staging', target: 'kubernetes', credentials: [[type: 'string', id: 'token-{env}', variable: 'T']]])
    assert failure == null
    assert jenkins.calls == [
        'withCredentials [string(token-staging as T)]',
        'sh skytrain deploy . --env staging --target kubernetes --junit reports/skytrain/staging.xml',
        'junit reports/skytrain/staging.xml',
    ]
}

cases['a misspelt option is refused with the known ones'] = {
    def (jenkins, failure) = build([BRANCH_NAME: 'master'], {}, 'skytrainPipeline', [serviceDirectory: 'x'])
    assert failure instanceof IllegalArgumentException
    assert failure.message.startsWith('unknown skytrain option(s) [serviceDirectory]; known: [')
    assert jenkins.calls == []
}

int failed = 0
cases.eachWithIndex { String name, Closure test, int index ->
    try {
        test()
        println "ok ${index + 1} - ${name}"
    } catch (Throwable t) {
        failed++
        println "not ok ${index + 1} - ${name}"
        println t.toString().readLines().collect { "# ${it}" }.join('\n')
    }
}
println "1..${cases.size()}"
System.exit(failed ? 1 : 0)
