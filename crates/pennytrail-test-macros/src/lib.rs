//! `#[pennytrail_test]`: registers a function as a test of the integration-test binary
//! (`tests/integration`), with what it needs to run. The binary's own harness
//! (`tests/integration/harness.rs`) collects the registrations, checks once what this
//! machine has, and reports a test whose needs are missing as *ignored*, not `ok`
//! (under `CI=true` it runs, and fails).
//!
//! ```text
//! #[pennytrail_test]                   fn pure() { … }               // sync, needs nothing
//! #[pennytrail_test]                   async fn served() { … }       // in its own runtime
//! #[pennytrail_test(postgres)]         async fn pg_only() { … }      // needs PostgreSQL
//! #[pennytrail_test(node, browser)]    fn in_chromium() { … }        // needs Node and Chromium
//! #[pennytrail_test(both_backends)]    async fn scenario(app: TestApp) { … }
//!     // two tests, scenario::sqlite and scenario::postgres, each given a fresh TestApp
//! ```
//! Needs: `postgres`, `node`, `browser`, `go`. A test may return `Result<(), E>`
//! (`E: Debug`): an `Err` fails it.

use proc_macro::TokenStream;
use proc_macro2::Span;
use quote::{format_ident, quote};
use syn::parse::Parser as _;
use syn::punctuated::Punctuated;
use syn::{Ident, ItemFn, Token};

const NEEDS: [(&str, &str); 4] = [
    ("postgres", "Postgres"),
    ("node", "Node"),
    ("browser", "Browser"),
    ("go", "Go"),
];

#[proc_macro_attribute]
pub fn pennytrail_test(attr: TokenStream, item: TokenStream) -> TokenStream {
    match expand(attr.into(), item.into()) {
        Ok(tokens) => tokens.into(),
        Err(error) => error.to_compile_error().into(),
    }
}

fn expand(
    attr: proc_macro2::TokenStream,
    item: proc_macro2::TokenStream,
) -> syn::Result<proc_macro2::TokenStream> {
    let words = Punctuated::<Ident, Token![,]>::parse_terminated.parse2(attr)?;
    let function: ItemFn = syn::parse2(item)?;
    let mut needs = Vec::new();
    let mut both_backends = false;
    for word in &words {
        let text = word.to_string();
        if text == "both_backends" {
            both_backends = true;
        } else if let Some((_, variant)) = NEEDS.iter().find(|(name, _)| *name == text) {
            needs.push(Ident::new(variant, word.span()));
        } else {
            return Err(syn::Error::new(
                word.span(),
                "expected both_backends or a need: postgres, node, browser, go",
            ));
        }
    }
    let name = &function.sig.ident;
    let is_async = function.sig.asyncness.is_some();
    let arguments = function.sig.inputs.len();

    let registrations = if both_backends {
        if !is_async || arguments != 1 {
            return Err(syn::Error::new_spanned(
                &function.sig,
                "a both_backends test is `async fn name(app: TestApp)`",
            ));
        }
        let run = format_ident!("__pennytrail_run_{}", name);
        let sqlite = case(
            name,
            "::sqlite",
            &needs,
            quote!(crate::harness::Body::OnApp(crate::support::Backend::Sqlite, #run)),
        );
        let mut pg_needs = needs.clone();
        pg_needs.push(Ident::new("Postgres", Span::call_site()));
        let postgres = case(
            name,
            "::postgres",
            &pg_needs,
            quote!(crate::harness::Body::OnApp(crate::support::Backend::Postgres, #run)),
        );
        quote! {
            fn #run(app: crate::support::TestApp) -> crate::harness::Pending {
                ::std::boxed::Box::pin(async {
                    crate::harness::Outcome::check(#name(app).await)
                })
            }
            #sqlite
            #postgres
        }
    } else {
        if arguments != 0 {
            return Err(syn::Error::new_spanned(
                &function.sig.inputs,
                "a test takes no arguments (or is marked both_backends and takes the app)",
            ));
        }
        let run = format_ident!("__pennytrail_run_{}", name);
        if is_async {
            let registration = case(name, "", &needs, quote!(crate::harness::Body::Async(#run)));
            quote! {
                fn #run() -> crate::harness::Pending {
                    ::std::boxed::Box::pin(async {
                        crate::harness::Outcome::check(#name().await)
                    })
                }
                #registration
            }
        } else {
            let registration = case(name, "", &needs, quote!(crate::harness::Body::Sync(#run)));
            quote! {
                fn #run() {
                    crate::harness::Outcome::check(#name())
                }
                #registration
            }
        }
    };
    Ok(quote! {
        #function
        const _: () = {
            #registrations
        };
    })
}

fn case(
    name: &Ident,
    suffix: &str,
    needs: &[Ident],
    body: proc_macro2::TokenStream,
) -> proc_macro2::TokenStream {
    quote! {
        ::inventory::submit! {
            crate::harness::Case {
                module: ::core::module_path!(),
                name: ::core::concat!(::core::stringify!(#name), #suffix),
                needs: &[#(crate::harness::Need::#needs),*],
                body: #body,
            }
        }
    }
}
