/// The key pair the generator signs digest files with (`SynthOptions.signDigests`): a
/// 2048-bit RSA test key, committed so that signed trees are the same at every run (making
/// one takes longer than signing a small tree). It protects nothing: never trust it.
enum TestSigningKey {
    static let pem = """
        -----BEGIN RSA PRIVATE KEY-----
        MIIEowIBAAKCAQEA0Yex0O5hdusZaPuFU7+kC/l7U4PFCkZF6U47FiBYcwTHN9rD
        2vhHa/HbgHakZTXxGOb/iJQ+JARVQlUSIoWibv5dpsHVeLH35e0bqqQl39IZzFNH
        Gu/UBRfziVETFie4Si5id1Bq/f3Qz2jWoamGpiOLfkQUzOnF78Fam+e+GvQz5CPg
        pOFqpf6DJsKbtHNcVcYykMcjxJKEJigN0oq4zE6NIq4wPU+WD560O8L+kBuNHAue
        cc5bd73eQolfZb/LAySh/d7HPoavflOHix0SFNH9LlPpYm6j+5XeaPCLKZHMR042
        bt5lwy3fq1Vd7Lmdr6DPpxkRF+JqX1jS6jEc9QIDAQABAoIBAAXn+fPWZFpCckA/
        /BgflMje9Wz7Oo35lnWRxknvYM7ihEMSIDyHNxbXMHAZ6Am6UDDQLMUgI0hHSaf0
        V0MwhSL1JJVTbWhY4TtSna8HsCbzoyqGm8B/S3ir839xZkT/mvWXAnYz3BrgvAa8
        q8rOyS7cXaLnhGE/owazv+bDzNtcQxE5iq1s6y39XNEnkHmQ2JAbiRSH4Y/fJOVh
        20ylSZbWVKZmT0Ua0vWS56MdKtMfUYI6Sb21Vl7NzMNnOv4s9WjmjrzXeo3zHqZy
        ygXSa7kGtdXFSw/OWkiMJJheKosCuRERYbPBrN8/JTTkttPU/Lli+0f6npIgeH+M
        +Q0IlgECgYEA/QSYSd58O7Me1q3jQ2FMue1xXX3rd+UrqTTXevfTC7bQs+qgBaJq
        O5oRyrajf2cloE3Tq1b4jSskGwTQuBAc/ZZYiZ17xpWzDf66O58fopJSL+hDLxpx
        //zVPX6j7iEU5L99c5zcmIr7kdHQcS29rsvEgfMjdRtgjXvOqAfy6cECgYEA0//j
        XmDTxvtMTLBvhINguhxgfjjhS0WTGAdiCEyMIUmbquzQIRQACzrP6JfzWFFn11e3
        WnwPWd+/PR2ScY5eCGLqoe3kJg/5VVceix8EhRy5DcjRsqVI8EXsKyU6YTBoYlb5
        TcuIsItu8EIEo97h/PkmZX9n6AIu6BCDJ73kuDUCgYEAmeAegeZGJcSUv7j3GvZk
        xDqMlHBNMRh1yi0x0z4+4sPm/1R0x5h0BRV5NpCGtKfVcT2DupNlC+2twqTWDur1
        xp+V7vOQ4EAQqjU9q57ljWhxhWM64L2zkRyBzylipyMFYuy2bgZ6/magApnYq8xG
        rLSOKP3mlYT13nXqQ7S53cECgYBoHL3Tpqe6i8VP0EIkCMUjATaeJl72MWfooA+T
        1cvnuRd63Kvl4sWWvj5GkwEN+YSOq+Q+yrhbQdfQMsqte+ZQJgvmlEa8LpIbSBqW
        5he5K37x9xKMskFcxmoSUkkWW8iXqvDqNK+fTAqicTmIJLhFHTKvG9+ygAf7LcjL
        ZqWBlQKBgC0ADCL0EKCD5ACOXvfhIKn0r863xeI5Wjmf+mYcl6WPVeiL/teCsspR
        VKeKu2EeVzcZrLGsgy5CSAiIjzyebfCOtJSZXlVjrLXK3nJgNZYI6dGB+9TMyYXz
        Yx7TdUNwXFZZJvKwzQaCGcZF3y9ToTzd3jGFv8FL3byySngx4m66
        -----END RSA PRIVATE KEY-----
        """
}
