"""Extracts libfdt's sources from Debian's linux-source tarball (no download)."""

def _debian_libfdt_source_impl(ctx):
    tarball = ctx.path(ctx.attr.tarball)
    if not tarball.exists:
        fail("%s is missing: run ./relay setup (installs linux-source-6.1)" % ctx.attr.tarball)
    result = ctx.execute(
        ["tar", "-xJf", str(tarball), "--strip-components=%d" % len(ctx.attr.prefix.split("/")), ctx.attr.prefix],
        timeout = 300,
    )
    if result.return_code != 0:
        fail("extracting libfdt from %s failed: %s" % (ctx.attr.tarball, result.stderr))
    ctx.symlink(ctx.attr.build_file, "BUILD.bazel")

debian_libfdt_source = repository_rule(
    implementation = _debian_libfdt_source_impl,
    attrs = {
        "tarball": attr.string(mandatory = True),
        "prefix": attr.string(mandatory = True),
        "build_file": attr.label(default = "//third_party/libfdt:libfdt.BUILD"),
    },
    local = False,
)
